namespace MedDistill.Distillation;

/// <summary>
/// A distillation method whose objective depends on training progress (e.g. ACW-SKD's gradient-reversal factor λ). A
/// trainer that knows its step count calls <see cref="SetProgress"/> before each step's <c>Compute</c>; a method that is
/// never told stays at progress 0.
/// </summary>
public interface IStepAware
{
    /// <param name="step">Steps done so far (0 before the first).</param>
    /// <param name="totalSteps">Steps of the whole run (≥ 1).</param>
    void SetProgress(long step, long totalSteps);
}
