from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from inventory_api.ports import StoreError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class S3ExportStore:
    """exports/ in the inventory bucket: SSE-S3 uploads (multipart for large files), presigned GETs."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    def upload(self, path: Path, key: str) -> None:
        try:
            self._s3.upload_file(
                str(path), self._bucket, key, ExtraArgs={"ServerSideEncryption": "AES256", "ContentType": XLSX}
            )
        except (ClientError, BotoCoreError) as exc:
            raise StoreError(f"export upload failed: {exc}") from exc

    def download_url(self, key: str, expires_in_s: int, filename: str) -> str:
        url: str = self._s3.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": XLSX,
            },
            ExpiresIn=expires_in_s,
        )
        return url

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StoreError(f"export lookup failed: {exc}") from exc
