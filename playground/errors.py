"""Discord's error bodies: `{"code", "message"}` and, for 50035, the `errors` tree (reference A6).

The tree mirrors the JSON path of the bad value, array indices as string keys, with a leaf
`{"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "..."}]}`.
"""

from __future__ import annotations

from typing import Any

Path = tuple[str | int, ...]


class ApiError(Exception):
    """An error the emulator answers with, shaped like Discord's."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def unknown(what: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {what}")


UNAUTHORIZED = ApiError(401, 0, "401: Unauthorized")


class FormErrors:
    """Collects every problem in a payload, then raises one 50035 with the whole tree."""

    def __init__(self, root: Path = ()) -> None:
        self.root = root
        self.items: list[tuple[Path, str, str]] = []

    def add(self, path: Path, code: str, message: str) -> None:
        self.items.append((self.root + path, code, message))

    def max_length(self, path: Path, value: Any, limit: int) -> None:
        if value is not None and len(value) > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")

    def length_between(self, path: Path, value: Any, low: int, high: int) -> None:
        if value is None:
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        elif not low <= len(value) <= high:
            self.add(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")

    def required(self, path: Path, value: Any) -> bool:
        if value is None:
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
            return False
        return True

    def tree(self) -> dict[str, Any]:
        tree: dict[str, Any] = {}
        for path, code, message in self.items:
            node = tree
            for key in path:
                node = node.setdefault(str(key), {})
            node.setdefault("_errors", []).append({"code": code, "message": message})
        return tree

    def raise_if_any(self) -> None:
        if self.items:
            raise ApiError(400, 50035, "Invalid Form Body", self.tree())


class DriverError(Exception):
    """A driver action Discord's own client would refuse (unknown command, missing permission...)."""
