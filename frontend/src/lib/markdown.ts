import { Marked, type Tokens } from "marked";

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

/**
 * Our own docs (bundled at build time) as HTML for the page. Links to web addresses open in a new
 * tab; links to other docs of the repository become their text, since a deployed stack does not
 * serve docs/. Raw HTML in the Markdown is shown as text, never run.
 */
const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    link(token: Tokens.Link) {
      const text = this.parser.parseInline(token.tokens);
      if (!/^https?:\/\//i.test(token.href)) return text;
      return `<a href="${escapeHtml(token.href)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
    },
    html(token: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(token.text);
    },
  },
});

export function markdownToHtml(markdown: string): string {
  return marked.parse(markdown, { async: false });
}
