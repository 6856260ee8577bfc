"""What the clean-up may delete: only export folders inside the exports directory, never through a link."""

from __future__ import annotations

from pathlib import Path


def safe_to_remove(folder: Path, root: Path) -> str | None:
    """None if `folder` may be deleted, else why not."""
    if folder.is_symlink() or folder.parent.is_symlink():
        return f"{folder} is a symlink; not followed"
    if not folder.resolve().is_relative_to(root.resolve()) or folder.resolve() == root.resolve():
        return f"{folder} lies outside the exports directory {root}"
    return None


def remove_empty_parent(folder: Path, root: Path) -> None:
    """Remove the sprint folder that held `folder` once it is empty (never the exports directory itself)."""
    parent = folder.parent
    if parent.resolve() != root.resolve() and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
