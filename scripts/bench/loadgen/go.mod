// Pins the version of vegeta that make bench builds (scripts/bench/loadgen.ts).
module usermesh/loadgen

go 1.22

require github.com/tsenart/vegeta/v12 v12.12.0
