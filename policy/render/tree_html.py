"""`policycheck tree --format html`: the tree audit as one self-contained page (`templates/tree/tree.html.j2`).

Rendered by the sandboxed HTML environment of `policy/templating.py` (autoescape on) with `template.generate`,
so the rows stream through the page and are never all in memory. Inline CSS, and one small inline script that
sorts the table of descendants when a column header is clicked (numbers by value; `#sort=downloads` or
`#sort=-downloads` in the URL sorts on load, by clicking the header once or twice). The script is a constant of
this module: no data is ever written into it. It reads the table from the page (cell text and `data-sort`
attributes, both autoescaped), and the page's Content-Security-Policy allows that script only, by its sha256
hash, and no external resource of any kind.

The tree is a nested list built from `rows("preorder")`: each row's `depth` says where its item goes, so the
nesting needs one number of state. Indentation stops at HTML_INDENT_CAP levels; deeper items say their depth.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from markupsafe import Markup

from policy.render.registry import RenderOptions
from policy.render.tree import TreeOutput, endpoint_of, gather, view_row, view_summary

TEMPLATE = "tree/tree.html.j2"
HTML_INDENT_CAP = 24

SORT_SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("rows");
  if (!table || !table.tHead || !table.tBodies.length) { return; }
  var body = table.tBodies[0];
  var heads = table.tHead.rows[0].cells;
  function value(row, col, numeric) {
    var cell = row.cells[col];
    var v = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (numeric) { var n = Number(v); return isNaN(n) ? 0 : n; }
    return v.toLowerCase();
  }
  function sortBy(col) {
    var th = heads[col];
    var numeric = th.getAttribute("data-type") === "number";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    var items = Array.prototype.map.call(body.rows, function (row, i) {
      return [value(row, col, numeric), i, row];
    });
    items.sort(function (a, b) {
      if (a[0] < b[0]) { return -dir; }
      if (a[0] > b[0]) { return dir; }
      return a[1] - b[1];
    });
    for (var i = 0; i < heads.length; i++) { heads[i].setAttribute("aria-sort", "none"); }
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    table.setAttribute("data-sorted", th.getAttribute("data-col") + (dir === 1 ? "" : " desc"));
    var frag = document.createDocumentFragment();
    items.forEach(function (item) { frag.appendChild(item[2]); });
    body.appendChild(frag);
  }
  Array.prototype.forEach.call(heads, function (th, col) {
    var button = th.querySelector("button");
    if (button) { button.addEventListener("click", function () { sortBy(col); }); }
  });
  function fromHash() {
    var m = /^#sort=(-?)([a-z_]+)$/.exec(window.location.hash);
    if (!m) { return; }
    var th = table.querySelector('th[data-col="' + m[2] + '"] button');
    if (!th) { return; }
    th.click();
    if (m[1] === "-") { th.click(); }
  }
  fromHash();
  window.addEventListener("hashchange", fromHash);
})();
"""
SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode("utf-8")).digest()).decode("ascii")


def tree_items(rows: Iterable[Mapping[str, Any]], endpoint: str | None = None) -> Iterator[dict[str, Any]]:
    """The rows in pre-order as items of a nested list: `open` (the item starts a list under the previous one)
    or `close` (how many lists end before it), and `level` (its indentation, capped). A final item with
    `end=True` says how many lists are still open."""
    level = 0  # the level of the open item: 0 is the root
    for row in rows:
        view = view_row(row, endpoint)
        want = min(view["depth"], HTML_INDENT_CAP)
        target = min(want, level + 1)  # a row deeper than its predecessor's child goes one level down only
        item = {**view, "open": target == level + 1, "close": max(0, level - target), "level": target,
                "deep": view["depth"] > target, "end": False}
        level = target
        yield item
    yield {"end": True, "open": False, "close": level, "level": 0}


def render(audit: TreeOutput, options: RenderOptions) -> Iterator[str]:
    """The registry's `tree --format html` renderer."""
    return gather(iter_html(audit.summary, audit.rows))


def iter_html(summary: Mapping[str, Any], rows: Callable[[str], Iterable[Mapping[str, Any]]]) -> Iterator[str]:
    from policy.templating import document_environment

    template = document_environment((), "html").get_template(TEMPLATE)
    view = view_summary(summary)
    endpoint = endpoint_of(summary)

    def table() -> Iterator[dict[str, Any]]:  # each query starts when the template reaches it
        for row in rows("depth"):
            yield view_row(row, endpoint)

    def tree() -> Iterator[dict[str, Any]]:
        yield from tree_items(rows("preorder"), endpoint)

    yield from template.generate(
        **view, rows=table(), tree=tree(),
        script=Markup(SORT_SCRIPT), script_hash=SCRIPT_HASH)
