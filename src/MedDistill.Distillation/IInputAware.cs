using MedDistill.Torch;

namespace MedDistill.Distillation;

/// <summary>
/// A distillation method that runs forward passes of its own (GKD's augmented views and header-exchanged forwards) and so
/// needs the batch's input, which <see cref="IDistillationMethod.Compute"/> does not carry. A trainer calls
/// <see cref="SetInput"/> each step before <c>Compute</c> with the image tensor both networks saw (N, C, H, W), on their
/// device; the method may keep the reference until the next call and must not modify it.
/// </summary>
public interface IInputAware
{
    void SetInput(Tensor image);
}
