namespace MedDistill.Torch.Optim;

/// <summary>
/// Cyclical learning rate (Smith, "Cyclical Learning Rates for Training Neural Networks"), as PyTorch's CyclicLR:
/// the rate rises linearly from base_lr to max_lr over step_size_up iterations, falls back over step_size_down,
/// and the amplitude is scaled by a function of the cycle number (or of the iteration). Step it once per batch.
/// With cycle_momentum the momentum (SGD) or β₁ (Adam, AdamW) moves inversely, between max_momentum and base_momentum.
/// Constructing it sets every group's rate to base_lr (and momentum to max_momentum).
/// </summary>
public sealed class CyclicLR : LRScheduler
{
    public enum Mode { Triangular, Triangular2, ExpRange }
    public enum ScaleMode { Cycle, Iterations }

    private double[] maxLrs;
    private double[] baseMomentums = [];
    private double[] maxMomentums = [];
    private readonly Func<double, double>? customScale;
    private string? momentumOption;

    public CyclicLR(Optimizer optimizer, double[] base_lr, double[] max_lr, int step_size_up = 2000, int? step_size_down = null,
        Mode mode = Mode.Triangular, double gamma = 1.0, Func<double, double>? scale_fn = null, ScaleMode scale_mode = ScaleMode.Cycle,
        bool cycle_momentum = true, double[]? base_momentum = null, double[]? max_momentum = null)
        : base(optimizer, SetBaseRates(optimizer, base_lr))
    {
        int groups = optimizer.ParamGroups.Count;
        maxLrs = PerGroup(max_lr, groups, nameof(max_lr));
        if (step_size_up < 1) throw new ArgumentOutOfRangeException(nameof(step_size_up), step_size_up, "step_size_up must be at least 1");
        if (step_size_down is < 1) throw new ArgumentOutOfRangeException(nameof(step_size_down), step_size_down, "step_size_down must be at least 1");
        if (!Enum.IsDefined(mode)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown CyclicLR mode");
        double up = step_size_up, down = step_size_down ?? step_size_up;
        TotalSize = up + down;
        StepRatio = up / TotalSize;
        CycleMode = mode;
        Gamma = gamma;
        customScale = scale_fn;
        // As in PyTorch: the built-in modes fix their own scale mode; scale_mode only applies to a custom scale_fn.
        ScalingMode = scale_fn is not null ? scale_mode : mode == Mode.ExpRange ? ScaleMode.Iterations : ScaleMode.Cycle;

        CycleMomentum = cycle_momentum;
        if (cycle_momentum)
        {
            momentumOption = optimizer.Defaults.ContainsKey("momentum") ? "momentum"
                : optimizer.Defaults.ContainsKey("beta1") ? "beta1"
                : throw new ArgumentException($"cycle_momentum needs an optimizer with momentum (SGD) or beta1 (Adam, AdamW); {optimizer.GetType().Name} has neither, so pass cycle_momentum: false", nameof(cycle_momentum));
            baseMomentums = PerGroup(base_momentum ?? [0.8], groups, nameof(base_momentum));
            maxMomentums = PerGroup(max_momentum ?? [0.9], groups, nameof(max_momentum));
            for (int i = 0; i < groups; i++) optimizer.ParamGroups[i][momentumOption] = maxMomentums[i];
        }
        InitialStep();
    }

    public CyclicLR(Optimizer optimizer, double base_lr, double max_lr, int step_size_up = 2000, int? step_size_down = null,
        Mode mode = Mode.Triangular, double gamma = 1.0, Func<double, double>? scale_fn = null, ScaleMode scale_mode = ScaleMode.Cycle,
        bool cycle_momentum = true, double base_momentum = 0.8, double max_momentum = 0.9)
        : this(optimizer, [base_lr], [max_lr], step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode, cycle_momentum,
            [base_momentum], [max_momentum])
    {
    }

    // Runs before the base constructor records initial_lr, so that (as in PyTorch) the groups start at base_lr.
    private static double[] SetBaseRates(Optimizer optimizer, double[] baseLr)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var rates = PerGroup(baseLr, optimizer.ParamGroups.Count, nameof(baseLr));
        for (int i = 0; i < rates.Length; i++) optimizer.ParamGroups[i].LearningRate = rates[i];
        return rates;
    }

    /// <summary>One value for every group, or one per group.</summary>
    private static double[] PerGroup(double[] values, int groups, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.Length == 1) return Enumerable.Repeat(values[0], groups).ToArray();
        if (values.Length != groups) throw new ArgumentException($"expected 1 or {groups} values (one per parameter group), got {values.Length}", name);
        return values.ToArray();
    }

    public double TotalSize { get; private set; }
    public double StepRatio { get; private set; }
    public Mode CycleMode { get; private set; }
    public ScaleMode ScalingMode { get; private set; }
    public double Gamma { get; private set; }
    public bool CycleMomentum { get; private set; }
    public IReadOnlyList<double> max_lrs => maxLrs;

    private double Scale(double x) =>
        customScale is not null ? customScale(x)
        : CycleMode switch
        {
            Mode.Triangular => 1.0,
            Mode.Triangular2 => 1.0 / Math.Pow(2, x - 1),
            _ => Math.Pow(Gamma, x),
        };

    protected override double[] ComputeLearningRates()
    {
        double cycle = Math.Floor(1 + last_epoch / TotalSize);
        double x = 1.0 + last_epoch / TotalSize - cycle;   // position within the cycle, in [0, 1)
        double scaleFactor = x <= StepRatio ? x / StepRatio : (x - 1) / (StepRatio - 1);
        double scale = Scale(ScalingMode == ScaleMode.Cycle ? cycle : last_epoch);

        var lrs = new double[maxLrs.Length];
        for (int i = 0; i < lrs.Length; i++)
            lrs[i] = base_lrs[i] + (maxLrs[i] - base_lrs[i]) * scaleFactor * scale;
        if (CycleMomentum && momentumOption is not null)
        {
            var groups = Optimizer.ParamGroups;
            for (int i = 0; i < lrs.Length; i++)
                groups[i][momentumOption] = maxMomentums[i] - (maxMomentums[i] - baseMomentums[i]) * scaleFactor * scale;
        }
        return lrs;
    }

    // A custom scale_fn is code and is not saved; the restoring scheduler keeps its own.
    protected override void SaveState(IDictionary<string, double> values)
    {
        for (int i = 0; i < maxLrs.Length; i++) values[$"max_lrs.{i}"] = maxLrs[i];
        for (int i = 0; i < baseMomentums.Length; i++) values[$"base_momentums.{i}"] = baseMomentums[i];
        for (int i = 0; i < maxMomentums.Length; i++) values[$"max_momentums.{i}"] = maxMomentums[i];
        values["total_size"] = TotalSize;
        values["step_ratio"] = StepRatio;
        values["mode"] = (int)CycleMode;
        values["scale_mode"] = (int)ScalingMode;
        values["gamma"] = Gamma;
        values["cycle_momentum"] = CycleMomentum ? 1 : 0;
    }

    protected override void LoadState(IReadOnlyDictionary<string, double> values)
    {
        RejectUnknown(values, "max_lrs.", "base_momentums.", "max_momentums.", "total_size", "step_ratio", "mode", "scale_mode", "gamma", "cycle_momentum");
        int groups = Optimizer.ParamGroups.Count;
        bool cycleMomentum = Require(values, "cycle_momentum") != 0;
        string? option = null;
        if (cycleMomentum)
            option = momentumOption ?? (Optimizer.Defaults.ContainsKey("momentum") ? "momentum"
                : Optimizer.Defaults.ContainsKey("beta1") ? "beta1"
                : throw new ArgumentException("the saved CyclicLR cycles momentum but this optimizer has neither momentum nor beta1"));
        var max = Enumerable.Range(0, groups).Select(i => Require(values, $"max_lrs.{i}")).ToArray();
        var baseM = cycleMomentum ? Enumerable.Range(0, groups).Select(i => Require(values, $"base_momentums.{i}")).ToArray() : [];
        var maxM = cycleMomentum ? Enumerable.Range(0, groups).Select(i => Require(values, $"max_momentums.{i}")).ToArray() : [];
        maxLrs = max;
        baseMomentums = baseM;
        maxMomentums = maxM;
        momentumOption = option;
        CycleMomentum = cycleMomentum;
        TotalSize = Require(values, "total_size");
        StepRatio = Require(values, "step_ratio");
        CycleMode = (Mode)(int)Require(values, "mode");
        ScalingMode = (ScaleMode)(int)Require(values, "scale_mode");
        Gamma = Require(values, "gamma");
    }
}
