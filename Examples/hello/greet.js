const { greeting, punctuation } = require('./greeting.json');
exports.greet = (name) => `${greeting}, ${name}${punctuation}`;
