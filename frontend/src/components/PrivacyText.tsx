import { useMemo } from "react";
import privacyMarkdown from "../../../docs/PRIVACY.md?raw";
import { markdownToHtml } from "../lib/markdown";

/** docs/PRIVACY.md as this build bundled it (loaded with the dialog, not with the page). */
export default function PrivacyText() {
  const html = useMemo(() => markdownToHtml(privacyMarkdown), []);
  return <div className="doc" data-testid="privacy-text" dangerouslySetInnerHTML={{ __html: html }} />;
}
