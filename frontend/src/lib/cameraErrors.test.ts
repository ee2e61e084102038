import { describe, expect, it } from "vitest";
import { cameraErrorMessage } from "./cameraErrors";

const domError = (name: string, message = "") => Object.assign(new Error(message), { name });

describe("cameraErrorMessage", () => {
  it("tells a denied permission apart from a missing camera", () => {
    expect(cameraErrorMessage(domError("NotAllowedError"))).toMatch(/permission was denied/);
    expect(cameraErrorMessage(domError("NotFoundError"))).toMatch(/No camera was found/);
    expect(cameraErrorMessage(domError("OverconstrainedError"))).toMatch(/No camera was found/);
  });

  it("says when another application holds the camera", () => {
    expect(cameraErrorMessage(domError("NotReadableError"))).toMatch(/in use by another application/);
  });

  it("keeps the browser's words for an error it does not know", () => {
    expect(cameraErrorMessage(domError("WeirdError", "the driver said no"))).toMatch(/WeirdError: the driver said no/);
    expect(cameraErrorMessage("boom")).toMatch(/unknown error/);
  });
});
