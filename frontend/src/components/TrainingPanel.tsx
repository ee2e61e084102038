import { useCallback } from "react";
import { useModelVersions } from "../hooks/useModelVersions";
import { useTrainingForm } from "../hooks/useTrainingForm";
import { useTrainingJob } from "../hooks/useTrainingJob";
import { ModelVersions } from "./ModelVersions";
import { TrainingForm } from "./TrainingForm";
import { TrainingJobView } from "./TrainingJobView";

/** Train a model from the page (the form is the gateway's training schema) and manage versions. */
export function TrainingPanel() {
  const versions = useModelVersions();
  const form = useTrainingForm();
  const loadVersions = versions.load;
  const job = useTrainingJob(useCallback(() => void loadVersions(), [loadVersions]));

  const submit = () => {
    const built = form.request();
    if (built.ok) void job.start(built.request);
    else job.setError(built.error);
  };

  const error = job.error ?? form.optionsError;
  return (
    <div className="training">
      <section className="card" aria-labelledby="train-title">
        <h2 id="train-title">Train a new emotion model</h2>
        {form.options && (
          <TrainingForm options={form.options} texts={form.texts} dataset={form.dataset} estimate={form.estimate}
                        busy={job.submitting ? "submitting" : job.running ? "running" : null}
                        onText={form.setText} onDataset={form.setDataset} onSubmit={submit} onReload={() => void form.reload()} />
        )}
        {error && <p role="alert" className="error-text" data-testid="training-error">{error}</p>}
        {job.job && <TrainingJobView job={job.job} />}
      </section>
      <ModelVersions models={versions.models} error={versions.error} activating={versions.activating}
                     onActivate={(v) => void versions.activate(v)} onRefresh={() => void versions.load()} />
    </div>
  );
}
