// A real S3-compatible server for the backup e2e tests: s3rver on 127.0.0.1, storing under argv[2],
// with bucket argv[3] created. Prints {"port": N} once listening; runs until killed.
// s3rver accepts the access key S3RVER (secret S3RVER) and, for SigV4, checks the Authorization
// header's form and key id but not the signature: tests/e2e/test_backup.py puts a proxy in front that
// checks every signature with its own SigV4 code.
import S3rver from "s3rver";

const [directory, bucket] = process.argv.slice(2);
const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
const address = await server.run();
console.log(JSON.stringify({ port: address.port }));
