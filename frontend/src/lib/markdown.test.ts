import { describe, expect, it } from "vitest";
import privacy from "../../../docs/PRIVACY.md?raw";
import { markdownToHtml } from "./markdown";

describe("markdownToHtml", () => {
  it("keeps web links, opening in a new tab, and turns links to the repository's docs into text", () => {
    const act = "https://eur-lex.europa.eu/eli/reg/2024/1689";
    const html = markdownToHtml(`See [the act](${act}) and [PROTOCOL.md](PROTOCOL.md#recorded-sessions).`);
    expect(html).toContain(`<a href="${act}" target="_blank" rel="noopener noreferrer">the act</a>`);
    expect(html).toContain("and PROTOCOL.md.");
    expect(html).not.toContain("href=\"PROTOCOL.md");
  });

  it("shows raw HTML as text", () => {
    const html = markdownToHtml('<img src="x" onerror="alert(1)">\n\ntext <b>bold</b>');
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>");
    expect(html).toContain("&lt;img src=&quot;x&quot;");
  });

  it("renders the privacy document the page bundles", () => {
    const html = markdownToHtml(privacy);
    expect(html).toMatch(/<h1>Privacy: what Sentivis keeps/);
    expect(html).toContain("<h2>Legal context to check before use</h2>");
    expect(html).toContain("<strong>EU AI Act</strong>");
    expect(html).not.toMatch(/href="(?!https?:)/);
  });
});
