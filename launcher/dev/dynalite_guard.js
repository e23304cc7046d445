// Preloaded into dynalite (`node -r dynalite_guard.js cli.js ...`) by launcher/localstack.py.
// dynalite rethrows a request's 'error' event, so a client that disconnects mid-request (a killed
// restore, a dropped connection) crashes the whole server: `Error: aborted` (ECONNRESET).
// DynamoDB just drops that request. Ignore exactly this error; anything else still ends the server.
process.on('uncaughtException', function (err) {
  if (err && err.code === 'ECONNRESET') {
    console.error('dynalite: a client aborted a request (ignored): ' + err.message)
    return
  }
  console.error(err)
  process.exit(1)
})
