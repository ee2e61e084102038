import { describe, expect, it } from "vitest";
import { defaultTexts, fieldLabel, formatBytes, formatDuration, listItems, parseField, trainingRequest, type TrainingParameter } from "./trainingForm";

// The shapes sentivis.training.schema() returns.
const EPOCHS: TrainingParameter = { name: "epochs", type: "integer", default: 40, help: "passes", minimum: 1, maximum: 1000 };
const LR: TrainingParameter = { name: "learning_rate", type: "number", default: 0.05, help: "peak", minimum: 1e-6, maximum: 10 };
const WIDTHS: TrainingParameter = {
  name: "widths", type: "integer_list", default: [24, 48, 96], help: "channels", minimum: 1, maximum: 1024, min_items: 1, max_items: 8,
};
const PRECISION: TrainingParameter = { name: "precision", type: "string", default: "bf16", help: "autocast", choices: ["fp32", "bf16"] };
const TEACHERS: TrainingParameter = {
  name: "teachers", type: "string_list", default: [], help: "committed teachers", choices: ["resnet-32-512-s11", "vgg-48-768-s12"],
};
const PARAMS = [EPOCHS, LR, WIDTHS, PRECISION, TEACHERS];

describe("the training form", () => {
  it("labels fields and starts from the schema's defaults", () => {
    expect(fieldLabel("learning_rate")).toBe("Learning rate");
    expect(defaultTexts(PARAMS)).toEqual({ epochs: "40", learning_rate: "0.05", widths: "24,48,96", precision: "bf16", teachers: "" });
  });

  it("checks values against the schema's types and ranges", () => {
    expect(parseField(EPOCHS, " 12 ")).toEqual({ ok: true, value: 12 });
    expect(parseField(EPOCHS, "1.5")).toEqual({ ok: false, error: "Epochs must be a whole number from 1 to 1000." });
    expect(parseField(EPOCHS, "")).toMatchObject({ ok: false });
    expect(parseField(LR, "0")).toEqual({ ok: false, error: "Learning rate must be a number from 0.000001 to 10." });
    expect(parseField(LR, "1e-3")).toEqual({ ok: true, value: 0.001 });
    expect(parseField(WIDTHS, "16, 32 64")).toEqual({ ok: true, value: [16, 32, 64] });
    expect(parseField(WIDTHS, "16,2000")).toEqual({
      ok: false, error: "Widths must be 1 to 8 whole numbers from 1 to 1024, separated by commas." });
    expect(parseField(WIDTHS, "")).toMatchObject({ ok: false });
    expect(parseField(PRECISION, "fp16")).toEqual({ ok: false, error: "Precision must be one of fp32, bf16." });
  });

  it("sends the dataset and only what was changed", () => {
    const texts = { ...defaultTexts(PARAMS), epochs: "5", learning_rate: "0.050", widths: "24,48,96" };
    expect(trainingRequest(PARAMS, texts, "fer2013.csv.gz")).toEqual({ ok: true, request: { dataset: "fer2013.csv.gz", epochs: 5 } });
    expect(trainingRequest(PARAMS, defaultTexts(PARAMS), "x.csv")).toEqual({ ok: true, request: { dataset: "x.csv" } });
  });

  it("refuses to send with a bad field or no dataset", () => {
    expect(trainingRequest(PARAMS, { ...defaultTexts(PARAMS), learning_rate: "-1" }, "x.csv"))
      .toEqual({ ok: false, error: "Learning rate must be a number from 0.000001 to 10." });
    expect(trainingRequest(PARAMS, defaultTexts(PARAMS), "")).toEqual({ ok: false, error: "Choose a data set from the datasets folder." });
  });

  it("offers the committed teachers as a multiple choice, each at most once", () => {
    expect(listItems(" resnet-32-512-s11, ,vgg-48-768-s12 ")).toEqual(["resnet-32-512-s11", "vgg-48-768-s12"]);
    expect(parseField(TEACHERS, "")).toEqual({ ok: true, value: [] });
    expect(parseField(TEACHERS, "vgg-48-768-s12,resnet-32-512-s11")).toEqual({ ok: true, value: ["vgg-48-768-s12", "resnet-32-512-s11"] });
    const refused = { ok: false, error: "Teachers must be chosen from resnet-32-512-s11, vgg-48-768-s12." };
    expect(parseField(TEACHERS, "emotionnet-32-512-s1")).toEqual(refused);
    expect(parseField(TEACHERS, "vgg-48-768-s12,vgg-48-768-s12")).toEqual(refused);
    expect(parseField({ ...TEACHERS, choices: [] }, "x")).toEqual({ ok: false, error: "Teachers: none are offered." });
    // None chosen is the default and is not sent; a choice is sent as a list of names.
    const texts = { ...defaultTexts(PARAMS), teachers: "resnet-32-512-s11" };
    expect(trainingRequest(PARAMS, texts, "fer.csv")).toEqual({ ok: true, request: { dataset: "fer.csv", teachers: ["resnet-32-512-s11"] } });
    expect(trainingRequest(PARAMS, { ...texts, teachers: "other" }, "fer.csv"))
      .toEqual({ ok: false, error: "Teachers must be chosen from resnet-32-512-s11, vgg-48-768-s12." });
  });

  it("says durations in round words", () => {
    expect(formatDuration(20)).toBe("under a minute");
    expect(formatDuration(2045)).toBe("about 34 min");
    expect(formatDuration(3600 * 2 + 300)).toBe("about 2 h 5 min");
    expect(formatDuration(3600 * 3)).toBe("about 3 h");
  });

  it("says data set sizes in round units", () => {
    expect(formatBytes(21)).toBe("21 bytes");
    expect(formatBytes(34_400)).toBe("34 kB");
    expect(formatBytes(2_702_179)).toBe("2.7 MB");
    expect(formatBytes(301_072_766)).toBe("301 MB");
  });
});
