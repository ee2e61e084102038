import { Suspense, lazy, useEffect, useRef } from "react";

const PrivacyText = lazy(() => import("./PrivacyText"));

/**
 * What recording keeps, in a few lines, and the whole of docs/PRIVACY.md as this build bundled it:
 * a deployed stack serves the app, not the repository's docs, so the text travels with the app.
 */
export function PrivacyDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const dialog = useRef<HTMLDialogElement | null>(null);

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (open && !el.open) el.showModal();
    if (!open && el.open) el.close();
  }, [open]);

  return (
    <dialog ref={dialog} className="privacy" aria-labelledby="privacy-title" data-testid="privacy" onClose={onClose}>
      <header className="section-head">
        <h2 id="privacy-title">Privacy: what a recorded session keeps</h2>
        <button type="button" onClick={onClose} autoFocus>Close</button>
      </header>
      <ul className="key-points">
        <li><strong>Only on request.</strong> Nothing is kept unless the Record switch is on (or an upload or file
          analysis asks for a session). Switching it off, closing the page or losing the connection ends it.</li>
        <li><strong>What:</strong> per answered frame and person, the time, the box, the detector's score, the
          emotion label, confidence and probabilities; per session, its name, start, end, model and settings.
          <strong> Never images</strong>, face crops or the tracker's appearance data.</li>
        <li><strong>Where:</strong> in this Sentivis installation's sessions database. Anyone with the access
          token can list, export and delete sessions.</li>
        <li><strong>How long:</strong> until deleted (Sessions tab, or the API), or the retention period the
          operator set. Deleting a session erases all of its rows; downloaded copies are not reached.</li>
        <li><strong>The law:</strong> in the EU, emotion recognition at work and in education is prohibited (AI
          Act, Article 5(1)(f)) except for medical or safety reasons; research with participants needs their
          informed consent. The operator must check the rules that apply.</li>
      </ul>
      <details className="doc-full">
        <summary>The full text (docs/PRIVACY.md of this version)</summary>
        {open && <Suspense fallback={<p className="hint">Loading…</p>}><PrivacyText /></Suspense>}
      </details>
    </dialog>
  );
}
