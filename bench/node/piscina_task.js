// The Piscina worker file of bench/node/piscina_pool.js: { op: 'add', x } -> x + 1,
// { op: 'fib', x } -> fib(x) computed recursively.
'use strict';

function fib(n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

module.exports = ({ op, x }) => (op === 'fib' ? fib(x) : x + 1);
