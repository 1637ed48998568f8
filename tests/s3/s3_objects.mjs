// Reads a bucket back with the official AWS SDK (@aws-sdk/client-s3), for tests/e2e/test_backup.py.
//   node s3_objects.mjs ENDPOINT BUCKET list PREFIX          -> {"objects": [{"key", "size"}...]}
//   node s3_objects.mjs ENDPOINT BUCKET get KEY              -> {"body": "<utf-8 text>"}
//   node s3_objects.mjs ENDPOINT BUCKET corrupt KEY          -> rewrites the object with its first byte flipped
import { S3Client, ListObjectsV2Command, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";

const [endpoint, bucket, op, arg] = process.argv.slice(2);
const s3 = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
});

if (op === "list") {
  const objects = [];
  let token;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: arg, ContinuationToken: token }));
    for (const o of page.Contents ?? []) objects.push({ key: o.Key, size: o.Size });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  console.log(JSON.stringify({ objects }));
} else if (op === "get") {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: arg }));
  console.log(JSON.stringify({ body: await got.Body.transformToString() }));
} else if (op === "corrupt") {
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: arg }));
  const bytes = Buffer.from(await got.Body.transformToByteArray());
  bytes[0] ^= 0xff;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: arg, Body: bytes }));
  console.log(JSON.stringify({ corrupted: arg, size: bytes.length }));
} else {
  console.error(`unknown op ${op}`);
  process.exit(2);
}
