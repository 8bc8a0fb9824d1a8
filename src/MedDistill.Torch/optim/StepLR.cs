namespace MedDistill.Torch.Optim;

/// <summary>Decays each rate by gamma every step_size epochs: lr = base_lr · γ^⌊epoch / step_size⌋.</summary>
public sealed class StepLR : LRScheduler
{
    public StepLR(Optimizer optimizer, int step_size, double gamma = 0.1) : base(optimizer)
    {
        if (step_size < 1) throw new ArgumentOutOfRangeException(nameof(step_size), step_size, "step_size must be at least 1");
        StepSize = step_size;
        Gamma = gamma;
        InitialStep();
    }

    public int StepSize { get; private set; }
    public double Gamma { get; private set; }

    protected override double[] ComputeLearningRates()
    {
        double factor = Math.Pow(Gamma, last_epoch / StepSize);
        return base_lrs.Select(b => b * factor).ToArray();
    }

    protected override void SaveState(IDictionary<string, double> values)
    {
        values["step_size"] = StepSize;
        values["gamma"] = Gamma;
    }

    protected override void LoadState(IReadOnlyDictionary<string, double> values)
    {
        RejectUnknown(values, "step_size", "gamma");
        StepSize = checked((int)Require(values, "step_size"));
        Gamma = Require(values, "gamma");
    }
}
