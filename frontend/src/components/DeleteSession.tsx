import { useState } from "react";

interface Props {
  name: string;
  frames: number;
  busy: boolean;
  disabled: boolean;
  onDelete: () => void;
}

/** Delete, after a confirmation that says what goes. */
export function DeleteSession({ name, frames, busy, disabled, onDelete }: Props) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" className="danger push-right" onClick={() => setAsking(true)} disabled={disabled}>
        Delete…
      </button>
    );
  return (
    <div className="confirm" role="alertdialog" aria-labelledby="confirm-delete" data-testid="confirm-delete">
      <p id="confirm-delete">
        Delete “{name}” and all {frames} {frames === 1 ? "frame" : "frames"} of it from the sessions database? This
        cannot be undone; files already downloaded are not affected.
      </p>
      <button type="button" className="danger" onClick={onDelete} disabled={busy}>
        {busy ? "Deleting…" : "Delete for good"}
      </button>
      <button type="button" onClick={() => setAsking(false)} disabled={busy} autoFocus>Cancel</button>
    </div>
  );
}
