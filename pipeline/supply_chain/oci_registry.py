"""An image repository over the OCI distribution protocol (the local registry, ECR): what signing writes
and verification reads. Plain HTTP only for a registry on loopback; ECR takes its token as Basic auth."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from pipeline import http_client
from pipeline.supply_chain.image_signatures import OCI_MANIFEST, RegistryReader, SignatureUpload, digest_of

RETRY = http_client.patient(4.0)


class RegistryError(Exception):
    """The registry did not answer as the protocol says; one line."""


@dataclass(frozen=True)
class Repository:
    registry: str  # host[:port]
    name: str
    insecure: bool = False  # plain HTTP (a registry on loopback)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. ECR's Basic authorization

    @property
    def url(self) -> str:
        return f"{'http' if self.insecure else 'https'}://{self.registry}/v2/{self.name}"

    def _request(self, path: str, method: str = "GET", **kw: Any) -> requests.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        url = path if path.startswith("http") else f"{self.url}/{path}"
        try:
            return http_client.fetch(url, method=method, headers=headers, retry=RETRY, **kw)
        except http_client.HttpError as exc:
            raise RegistryError(f"image registry {self.registry} is unreachable: {exc}") from None

    def manifest(self, tag: str) -> bytes | None:
        answer = self._request(f"manifests/{tag}", headers={"Accept": OCI_MANIFEST})
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise RegistryError(f"image registry {self.registry}: HTTP {answer.status_code} for {self.name}:{tag}")
        return answer.content

    def blob(self, digest: str) -> bytes:
        answer = self._request(f"blobs/{digest}")  # ECR redirects to S3; requests drops the auth header there
        if answer.status_code != 200:
            raise RegistryError(f"image registry {self.registry}: HTTP {answer.status_code} for blob {digest}")
        return answer.content

    def reader(self) -> RegistryReader:
        return RegistryReader(self.manifest, self.blob)

    def upload(self, signature: SignatureUpload) -> None:
        """The blobs (monolithic uploads), then the manifest that makes the signature visible."""
        for blob in signature.blobs:
            started = self._request("blobs/uploads/", method="POST")
            if started.status_code != 202 or "Location" not in started.headers:
                raise RegistryError(f"image registry {self.registry}: HTTP {started.status_code} starting an upload")
            location = started.headers["Location"]
            if location.startswith("/"):
                location = f"{'http' if self.insecure else 'https'}://{self.registry}{location}"
            separator = "&" if "?" in location else "?"
            done = self._request(
                f"{location}{separator}digest={digest_of(blob)}",
                method="PUT",
                body=blob,
                content_type="application/octet-stream",
            )
            if done.status_code != 201:
                raise RegistryError(f"image registry {self.registry}: HTTP {done.status_code} uploading a blob")
        put = self._request(
            f"manifests/{signature.tag}", method="PUT", body=signature.manifest, content_type=OCI_MANIFEST
        )
        if put.status_code != 201:
            raise RegistryError(f"image registry {self.registry}: HTTP {put.status_code} storing {signature.tag}")
