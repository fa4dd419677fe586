// Child process of bench/lib/s3-process.ts: starts the dev S3 server on `argv[2]` and says where.
import { startDevS3 } from '../../src/replication/dev-s3';

void startDevS3(process.argv[2]!).then(({ url, port, bucket }) => process.send!({ url, port, bucket }));
