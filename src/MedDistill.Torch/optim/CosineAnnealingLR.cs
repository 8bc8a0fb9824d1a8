namespace MedDistill.Torch.Optim;

/// <summary>
/// Cosine annealing (SGDR without restarts), closed form:
/// lr = η_min + (base_lr − η_min) · (1 + cos(π · epoch / T_max)) / 2.
/// Past T_max the cosine continues (the rate rises again), as PyTorch's closed form does.
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    public CosineAnnealingLR(Optimizer optimizer, int T_max, double eta_min = 0) : base(optimizer)
    {
        if (T_max < 1) throw new ArgumentOutOfRangeException(nameof(T_max), T_max, "T_max must be at least 1");
        this.T_max = T_max;
        this.eta_min = eta_min;
        InitialStep();
    }

    public int T_max { get; private set; }
    public double eta_min { get; private set; }

    protected override double[] ComputeLearningRates()
    {
        double cosine = (1 + Math.Cos(Math.PI * last_epoch / T_max)) / 2;
        return base_lrs.Select(b => eta_min + (b - eta_min) * cosine).ToArray();
    }

    protected override void SaveState(IDictionary<string, double> values)
    {
        values["T_max"] = T_max;
        values["eta_min"] = eta_min;
    }

    protected override void LoadState(IReadOnlyDictionary<string, double> values)
    {
        RejectUnknown(values, "T_max", "eta_min");
        T_max = checked((int)Require(values, "T_max"));
        eta_min = Require(values, "eta_min");
    }
}
