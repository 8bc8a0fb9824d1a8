namespace MedDistill.Torch.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum, L2 weight decay and
/// maximisation, following PyTorch's documented algorithm:
/// g ← ±∇ + λθ; b ← g on the first step, else μb + (1−τ)g; g ← g + μb (Nesterov) or b; θ ← θ − γg.
/// </summary>
public sealed class SGD : Optimizer
{
    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
        bool nesterov = false, bool maximize = false)
        : base(groups, new Dictionary<string, double>
        {
            ["lr"] = lr, ["momentum"] = momentum, ["dampening"] = dampening, ["weight_decay"] = weight_decay,
            ["nesterov"] = nesterov ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
        })
    {
    }

    protected override void Validate(ParamGroup group)
    {
        base.Validate(group);
        double momentum = group["momentum"];
        if (!(momentum >= 0)) throw new ArgumentOutOfRangeException("momentum", momentum, "Invalid momentum value");
        if (group["nesterov"] != 0 && (momentum <= 0 || group["dampening"] != 0))
            throw new ArgumentException("Nesterov momentum requires a momentum and zero dampening");
    }

    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group.LearningRate, weightDecay = group.WeightDecay, momentum = group["momentum"], dampening = group["dampening"];
        var d = group["maximize"] != 0 ? grad.neg() : grad;
        if (weightDecay != 0) d = d.add(param, weightDecay);
        if (momentum != 0)
        {
            if (state.TryGet("momentum_buffer", out var buffer))
                buffer.mul_(momentum).add_(d, 1 - dampening);
            else
                buffer = state.Set("momentum_buffer", d.clone());
            d = group["nesterov"] != 0 ? d.add(buffer, momentum) : buffer;
        }
        param.add_(d, -lr);
        state.Step++;
    }
}
