// Runs once before every jest run: builds FerretDB when no MONGODB_URI is given and the binary is
// missing, so that parallel test files never race to build it, and the first-build time shows up
// as its own step with progress output.
const path = require('node:path');

module.exports = async function globalSetup() {
  if (process.env.MONGODB_URI) return;
  const { ensureFerretDb } = require(path.join(__dirname, '..', '..', 'dist', 'store'));
  await ensureFerretDb((line) => process.stderr.write(`${line}\n`));
};
