// Everything visible must fit the viewport, and no box may cut its own content: a table
// scrolling sideways, a badge squashed, a list hiding its last row. Evaluated by Playwright.
() => {
  const width = document.documentElement.clientWidth, bad = [];
  if (document.documentElement.scrollWidth > width) bad.push(`page is ${document.documentElement.scrollWidth}px wide`);
  for (const node of document.querySelectorAll("main *, header *")) {
    if (!node.getClientRects().length || node.closest("svg")) continue;
    const box = node.getBoundingClientRect();
    const name = `${node.tagName.toLowerCase()}.${node.className || node.id}`;
    if (box.right > width + 1) bad.push(`${name} ends at ${Math.round(box.right)}px`);
    const style = getComputedStyle(node);
    const clips = ["hidden", "auto", "scroll"].includes(style.overflowX);
    if (clips && node.scrollWidth > node.clientWidth + 1) bad.push(`${name} cuts ${node.scrollWidth - node.clientWidth}px sideways`);
    if (node.matches(".alert-list") && node.scrollHeight > node.clientHeight + 1 && style.overflowY !== "visible") {
      if (node.getBoundingClientRect().height < 300) bad.push(`${name} hides rows`);
    }
    if (node.matches(".badge") && node.scrollWidth > node.clientWidth + 1) bad.push(`${name} squashed`);
  }
  return bad;
}
