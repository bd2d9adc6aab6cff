// A section's menu is one row that scrolls sideways on a phone (.subnav): when the current
// page's item is out of sight, bring it to the middle of the row at once (no animation), so
// the reader sees where they are without swiping. Nothing moves when it is already in view.
for (const row of document.querySelectorAll(".subnav ul")) {
  const current = row.querySelector('[aria-current="page"]');
  if (!current || row.scrollWidth <= row.clientWidth) continue;
  const item = (current.closest("li") || current).getBoundingClientRect();
  const box = row.getBoundingClientRect();
  if (item.left >= box.left && item.right <= box.right) continue;
  row.scrollLeft += item.left - box.left - (box.width - item.width) / 2;
}
