// The smallest app: what starting the runtime costs.
console.log('Hello, world!');
