"""A reference client for `drkit backup`/`restore` against an S3 server: boto3 uploads (then downloads) every file of a data dir to a local S3
server with 16 MiB parts, 4 in flight, 2 files at a time: what the server allows a
well-known client, beside drkit's own figure in the same run (`drkit bench backup|restore
--repo s3://...`, alternating). boto3 comes with moto's server.

    AWS_ACCESS_KEY_ID=.. AWS_SECRET_ACCESS_KEY=.. \
        python3 benches/s3_reference_client.py http://127.0.0.1:9000 BUCKET DATA_DIR run1
"""
import concurrent.futures, os, shutil, sys, time
import boto3
from boto3.s3.transfer import TransferConfig

endpoint, bucket, data, prefix = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
cfg = TransferConfig(multipart_threshold=16 << 20, multipart_chunksize=16 << 20, max_concurrency=4)
files = [os.path.join(r, f) for r, _, fs in os.walk(data) for f in fs]
total = sum(os.path.getsize(f) for f in files)
t = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(2) as ex:
    list(ex.map(lambda f: s3.upload_file(f, bucket, f"{prefix}/{os.path.relpath(f, data)}", Config=cfg), files))
up = time.monotonic() - t
out = f"/tmp/boto-down-{prefix}"
os.makedirs(out, exist_ok=True)
t = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(2) as ex:
    list(ex.map(lambda f: s3.download_file(bucket, f"{prefix}/{os.path.relpath(f, data)}",
                                           os.path.join(out, os.path.basename(f)), Config=cfg), files))
down = time.monotonic() - t
shutil.rmtree(out)
print(f"boto3 upload {total/1e6/up:.0f} MB/s ({up:.1f} s), download {total/1e6/down:.0f} MB/s ({down:.1f} s)")
