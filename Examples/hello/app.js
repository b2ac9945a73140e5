// A small app to try `bundle` on: several files, JSON, arguments, and a built-in module.
const os = require('os');
const { greet } = require('./greet');
const name = process.argv[2] || os.userInfo().username;
console.log(greet(name));
console.log(`node ${process.version} on ${process.platform}, started as ${require('path').basename(process.argv[1])}`);
