namespace MedDistill.Torch.Optim;

/// <summary>
/// Polynomial decay to zero over total_iters steps, then constant:
/// lr = base_lr · (1 − min(epoch, total_iters) / total_iters)^power (the "poly" schedule of segmentation work).
/// </summary>
public sealed class PolynomialLR : LRScheduler
{
    public PolynomialLR(Optimizer optimizer, int total_iters = 5, double power = 1.0) : base(optimizer)
    {
        if (total_iters < 1) throw new ArgumentOutOfRangeException(nameof(total_iters), total_iters, "total_iters must be at least 1");
        TotalIters = total_iters;
        Power = power;
        InitialStep();
    }

    public int TotalIters { get; private set; }
    public double Power { get; private set; }

    protected override double[] ComputeLearningRates()
    {
        double factor = Math.Pow(1.0 - (double)Math.Min(TotalIters, last_epoch) / TotalIters, Power);
        return base_lrs.Select(b => b * factor).ToArray();
    }

    protected override void SaveState(IDictionary<string, double> values)
    {
        values["total_iters"] = TotalIters;
        values["power"] = Power;
    }

    protected override void LoadState(IReadOnlyDictionary<string, double> values)
    {
        RejectUnknown(values, "total_iters", "power");
        TotalIters = checked((int)Require(values, "total_iters"));
        Power = Require(values, "power");
    }
}
