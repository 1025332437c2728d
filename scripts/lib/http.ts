// One HTTP request from the tools, with a deadline that holds: node:http, not fetch, whose
// unref'd AbortSignal.timeout let a process exit silently while a request hung on a
// connection that Docker's port proxy accepted and reset (nothing listening behind it).
// An https URL (the edge's HTTPS, where plain HTTP only redirects) is asked without checking
// the certificate: these requests ask whether the mesh answers, and carry nothing secret;
// whether clients can trust the certificate is meshctl check's https line.
import { request as plain } from 'node:http';
import { request as tls } from 'node:https';

export interface Answer {
  status: number;
  body: string;
}

export interface RequestOptions {
  method?: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
}

export function httpRequest(
  url: string,
  { method = 'GET', timeoutMs = 5000, headers = {} }: RequestOptions = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? tls : plain;
    const options = { method, headers, agent: false, rejectUnauthorized: false };
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end();
  });
}
