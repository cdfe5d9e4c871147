from tests.backups.servers import s3_server  # noqa: F401 - the moto S3 server fixture, for the document store
