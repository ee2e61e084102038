import { useState } from "react";
import { setToken } from "../lib/token";

/** Asks for the gateway's access token (SENTIVIS_AUTH_TOKEN) when the gateway refuses the page. */
export function TokenPrompt({ rejected }: { rejected: boolean }) {
  const [value, setValue] = useState("");
  return (
    <form className="card token-prompt" data-testid="token-prompt"
          onSubmit={(e) => { e.preventDefault(); setToken(value.trim()); setValue(""); }}>
      <div>
        <h2>This gateway needs an access token</h2>
        <p className="hint">
          {rejected ? "The token this browser sent was not accepted. " : ""}
          Ask whoever runs Sentivis for the value of <code>SENTIVIS_AUTH_TOKEN</code>. It is kept in this browser only.
        </p>
      </div>
      <label>Access token
        <input type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} required />
      </label>
      <button type="submit" className="primary">Connect</button>
    </form>
  );
}
