using static MedDistill.Torch.torch;

namespace MedDistill.Torch.Modules;

/// <summary>
/// A layer with a weight and an optional bias initialised as PyTorch's convolutions and nn.Linear are
/// (reset_parameters): weight ~ kaiming_uniform_(a=√5), i.e. U(±1/√fan_in), and bias ~ U(±1/√fan_in), where fan_in
/// comes from the weight's shape (size(1)·receptive field, which for ConvTranspose2d is out_channels/groups·kH·kW).
/// </summary>
public abstract class WeightedLayer : nn.Module<Tensor, Tensor>
{
    private nn.Parameter weight_ = null!;
    private nn.Parameter? bias_;

    /// <summary>Creates and registers "weight" and, when <paramref name="biasLength"/> is given, "bias", then initialises them.</summary>
    private protected void CreateParameters(long[] weightShape, long? biasLength, Device? device, ScalarType? dtype)
    {
        using (var w = empty(weightShape, dtype, device)) weight_ = new nn.Parameter(w);
        register_parameter("weight", weight_);
        if (biasLength is long n)
        {
            using var b = empty([n], dtype, device);
            bias_ = new nn.Parameter(b);
        }
        register_parameter("bias", bias_);
        reset_parameters();
    }

    public nn.Parameter weight
    {
        get => weight_;
        set { register_parameter("weight", value ?? throw new ArgumentNullException(nameof(value))); weight_ = value; }
    }

    public nn.Parameter? bias
    {
        get => bias_;
        set { register_parameter("bias", value); bias_ = value; }
    }

    public virtual void reset_parameters()
    {
        nn.init.kaiming_uniform_(weight_, a: Math.Sqrt(5));
        if (bias_ is null) return;
        var (fanIn, _) = nn.init.calculate_fan_in_and_fan_out(weight_);
        if (fanIn == 0) return;
        double bound = 1 / Math.Sqrt(fanIn);
        nn.init.uniform_(bias_, -bound, bound);
    }
}
