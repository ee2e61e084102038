import { describe, expect, it } from "vitest";
import { dateTime, duration, percentage } from "./format";

describe("duration", () => {
  it("says seconds under a minute, m:ss under an hour, h:mm:ss past it", () => {
    expect(duration(0)).toBe("0 s");
    expect(duration(42_400)).toBe("42 s");
    expect(duration(59_600)).toBe("1:00"); // rounds to the whole second first
    expect(duration(125_000)).toBe("2:05");
    expect(duration(3_599_000)).toBe("59:59");
    expect(duration(3_600_000)).toBe("1:00:00");
    expect(duration(3_725_000)).toBe("1:02:05");
    expect(duration(-5_000)).toBe("0 s");
  });
});

describe("dateTime", () => {
  it("writes the date and minute in the zone asked for", () => {
    expect(dateTime(1_796_637_215, "UTC")).toBe("2026-12-07 09:53");
    expect(dateTime(1_796_637_215, "Asia/Tokyo")).toBe("2026-12-07 18:53");
    expect(dateTime(0, "UTC")).toBe("1970-01-01 00:00");
  });
});

describe("percentage", () => {
  it("rounds to whole percents and has a dash for nothing", () => {
    expect(percentage(0.4567)).toBe("46%");
    expect(percentage(1)).toBe("100%");
    expect(percentage(null)).toBe("–");
    expect(percentage(Number.NaN)).toBe("–");
  });
});
