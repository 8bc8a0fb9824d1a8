namespace MedDistill.Torch.Optim;

/// <summary>
/// The Adam update shared by <see cref="Adam"/> (weight decay as an L2 term added to the gradient) and
/// <see cref="AdamW"/> (decoupled decay θ ← θ(1 − γλ)), per PyTorch's documented algorithms:
/// m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²; v̂max ← max(v̂max, v) with amsgrad;
/// θ ← θ − (γ / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε).
/// </summary>
public abstract class AdamBase : Optimizer
{
    private readonly bool decoupledWeightDecay;

    private protected AdamBase(IEnumerable<ParamGroup> groups, double lr, double beta1, double beta2, double eps, double weight_decay,
        bool amsgrad, bool maximize, bool decoupledWeightDecay)
        : base(groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["beta1"] = beta1, ["beta2"] = beta2, ["eps"] = eps, ["weight_decay"] = weight_decay,
            ["amsgrad"] = amsgrad ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
        })
    {
        this.decoupledWeightDecay = decoupledWeightDecay;
    }

    protected override void Validate(ParamGroup group)
    {
        base.Validate(group);
        if (!(group["eps"] >= 0)) throw new ArgumentOutOfRangeException("eps", group["eps"], "Invalid epsilon value");
        if (!(group["beta1"] >= 0 && group["beta1"] < 1)) throw new ArgumentOutOfRangeException("beta1", group["beta1"], "Invalid beta parameter at index 0");
        if (!(group["beta2"] >= 0 && group["beta2"] < 1)) throw new ArgumentOutOfRangeException("beta2", group["beta2"], "Invalid beta parameter at index 1");
    }

    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group.LearningRate, weightDecay = group.WeightDecay;
        double beta1 = group["beta1"], beta2 = group["beta2"], eps = group["eps"];
        bool amsgrad = group["amsgrad"] != 0;

        long step = ++state.Step;
        var g = group["maximize"] != 0 ? grad.neg() : grad;
        if (weightDecay != 0)
        {
            if (decoupledWeightDecay) param.mul_(1 - lr * weightDecay);
            else g = g.add(param, weightDecay);
        }

        if (!state.TryGet("exp_avg", out var expAvg)) expAvg = state.Set("exp_avg", torch.zeros_like(param));
        if (!state.TryGet("exp_avg_sq", out var expAvgSq)) expAvgSq = state.Set("exp_avg_sq", torch.zeros_like(param));
        // PyTorch 1.13's form; 2.x writes lerp_(g, 1 - beta1), equal in exact arithmetic but rounded differently.
        // Parameters whose gradient is pure rounding noise (a conv bias before batch norm) then drift apart, so
        // this form is kept for bit-level agreement with the libtorch we build against (PyTorchParityTests).
        expAvg.mul_(beta1).add_(g, 1 - beta1);
        expAvgSq.mul_(beta2).addcmul_(g, g, 1 - beta2);

        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, step));
        double stepSize = lr / biasCorrection1;

        Tensor second = expAvgSq;
        if (amsgrad)
        {
            // Created lazily too, so amsgrad can be switched on for a group mid-run.
            if (!state.TryGet("max_exp_avg_sq", out var maxSq)) maxSq = state.Set("max_exp_avg_sq", torch.zeros_like(param));
            maxSq.maximum_(expAvgSq);
            second = maxSq;
        }
        var denom = second.sqrt().div_(biasCorrection2Sqrt).add_(eps);
        param.addcdiv_(expAvg, denom, -stepSize);
    }
}

/// <summary>Adam; weight_decay adds λθ to the gradient (L2 regularisation).</summary>
public sealed class Adam : AdamBase
{
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : base(groups, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupledWeightDecay: false)
    {
    }
}

/// <summary>AdamW; weight decay is decoupled from the gradient: θ ← θ(1 − γλ) before the Adam step.</summary>
public sealed class AdamW : AdamBase
{
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
        double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(groups, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupledWeightDecay: true)
    {
    }
}
