// Starts an express server on a free loopback port, makes one request to itself,
// prints the response (no port, no date: the output is the same on every run) and exits.
const express = require('express');
const http = require('http');

const app = express();
app.get('/greet/:name', (req, res) => {
  res.json({ greeting: `Hello, ${req.params.name}!`, query: req.query });
});

const server = app.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const request = http.get({ host: '127.0.0.1', port, path: '/greet/bench?n=1', agent: false }, (res) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk) => { body += chunk; });
    res.on('end', () => {
      console.log(res.statusCode, res.headers['content-type']);
      console.log(body);
      server.close();
    });
  });
  request.on('error', (error) => {
    console.error('request failed:', error.message);
    process.exitCode = 1;
    server.close();
  });
});
