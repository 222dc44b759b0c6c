"""Edits of one element of an XML tree, as callables that parametrized tests apply to break it."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

Edit = Callable[[etree._Element], None]


def set_text(path: str, value: str) -> Edit:
    """Set the text of the element at ``path`` (below the edited element) to ``value``."""

    def change(root: etree._Element) -> None:
        element = root.find(path)
        assert element is not None, path
        element.text = value

    return change


def append_text(path: str, suffix: str) -> Edit:
    """Append ``suffix`` to the text of the element at ``path`` (below the edited element)."""

    def change(root: etree._Element) -> None:
        element = root.find(path)
        assert element is not None, path
        element.text = (element.text or "") + suffix

    return change


def drop(path: str) -> Edit:
    """Remove the element at ``path`` from its parent."""

    def change(root: etree._Element) -> None:
        element = root.find(path)
        assert element is not None, path
        parent = element.getparent()
        assert parent is not None, path
        parent.remove(element)

    return change


def swap(first: str, second: str) -> Edit:
    """Move the child ``first`` to just after the child ``second``."""

    def change(root: etree._Element) -> None:
        a, b = root.find(first), root.find(second)
        assert a is not None and b is not None
        b.addnext(a)

    return change


def foreign_signature(root: etree._Element) -> None:
    """Put a ``Signature`` element outside the XMLDSig namespace into ``CHUKYDONVI``."""
    container = root.find("CHUKYDONVI")
    assert container is not None
    etree.SubElement(container, "Signature")
