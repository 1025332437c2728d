// Builds the images here and copies them to every node in SWARM_NODES under the tag the swarm
// runs (engines.ts): there is no registry. A node that has a tag already is skipped, so only a
// changed image travels; the nodes are served at once.
import { buildImages } from '../lib/compose.js';
import { contentTag, docker } from '../lib/docker.js';
import { copyImage, IMAGES, nodes, onNode } from './engines.js';

/** The tag of each image, as the stack file's *_TAG variables. */
export async function shipImages(log: (line: string) => void): Promise<Record<string, string>> {
  await buildImages();
  const tags: Record<string, string> = {};
  for (const image of IMAGES) {
    tags[image] = await contentTag(image);
    await docker(['tag', `usermesh/${image}:latest`, `usermesh/${image}:${tags[image]}`]);
  }
  await Promise.all(
    nodes().map(async (node) => {
      for (const image of IMAGES) {
        const tagged = `usermesh/${image}:${tags[image]}`;
        if (
          await docker(onNode(node, ['image', 'inspect', tagged])).then(
            () => true,
            () => false,
          )
        )
          continue;
        log(`copying ${tagged} to ${node}`);
        await copyImage(tagged, node);
      }
    }),
  );
  return tags;
}
