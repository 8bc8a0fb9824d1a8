using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;
using F = MedDistill.Torch.torch.nn.functional;

namespace MedDistill.Torch.Modules
{
    /// <summary>
    /// Batch normalisation over the channels of (N, C, H, W) input, as PyTorch's nn.BatchNorm2d: parameters
    /// <c>weight</c> (1) and <c>bias</c> (0) when affine; buffers <c>running_mean</c> (0), <c>running_var</c> (1) and
    /// <c>num_batches_tracked</c> (int64) when tracking running statistics, which training-mode forwards update in place.
    /// </summary>
    public sealed class BatchNorm2d : nn.Module<Tensor, Tensor>
    {
        private readonly nn.Parameter? weight_;
        private readonly nn.Parameter? bias_;
        private readonly Tensor? runningMean;
        private readonly Tensor? runningVar;
        private readonly Tensor? numBatchesTracked;

        public long num_features { get; }
        public double eps { get; }
        /// <summary>Weight of the new batch statistic in the running average; null means a cumulative average.</summary>
        public double? momentum { get; }
        public bool affine { get; }
        public bool track_running_stats { get; }

        public BatchNorm2d(long num_features, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool track_running_stats = true,
            Device? device = null, ScalarType? dtype = null)
        {
            this.num_features = Args.Positive(num_features, nameof(num_features));
            if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive");
            if (momentum is { } m && !(m >= 0 && m <= 1)) throw new ArgumentOutOfRangeException(nameof(momentum), m, "momentum must be in [0, 1]");
            this.eps = eps;
            this.momentum = momentum;
            this.affine = affine;
            this.track_running_stats = track_running_stats;

            if (affine)
            {
                using (var w = ones([num_features], dtype, device)) weight_ = new nn.Parameter(w);
                using (var b = zeros([num_features], dtype, device)) bias_ = new nn.Parameter(b);
            }
            register_parameter("weight", weight_);
            register_parameter("bias", bias_);

            if (track_running_stats)
            {
                runningMean = zeros([num_features], dtype, device);
                runningVar = ones([num_features], dtype, device);
                numBatchesTracked = zeros([], ScalarType.Int64, device);
            }
            register_buffer("running_mean", runningMean);
            register_buffer("running_var", runningVar);
            register_buffer("num_batches_tracked", numBatchesTracked);
        }

        public nn.Parameter? weight => weight_;
        public nn.Parameter? bias => bias_;
        public Tensor? running_mean => runningMean;
        public Tensor? running_var => runningVar;
        public Tensor? num_batches_tracked => numBatchesTracked;

        public void reset_running_stats()
        {
            if (!track_running_stats) return;
            using var _ = no_grad();
            runningMean!.zero_();
            runningVar!.fill_(1);
            numBatchesTracked!.zero_();
        }

        public void reset_parameters()
        {
            reset_running_stats();
            if (!affine) return;
            nn.init.ones_(weight_!);
            nn.init.zeros_(bias_!);
        }

        public override Tensor forward(Tensor input)
        {
            Args.RequireDim(input, 4, GetName());
            long channels = input.size(1);
            if (channels != num_features)
                throw new ArgumentException($"{GetName()}: expected input with {num_features} channels, got {channels}", nameof(input));

            // PyTorch's rule: with momentum None the running average is cumulative (factor 1/batches seen so far).
            double factor = momentum ?? 0.0;
            if (training && track_running_stats)
            {
                using (no_grad()) numBatchesTracked!.add_(1);
                if (momentum is null) factor = 1.0 / numBatchesTracked!.item<long>();
            }
            // Without running statistics batch statistics are used even in eval mode.
            bool useBatchStats = training || !track_running_stats;
            return F.batch_norm(input,
                !training || track_running_stats ? runningMean : null,
                !training || track_running_stats ? runningVar : null,
                weight_, bias_, useBatchStats, factor, eps);
        }

        public override string extra_repr() =>
            $"{num_features}, eps={Args.Py(eps)}, momentum={(momentum is { } m ? Args.Py(m) : "None")}, affine={Args.Py(affine)}, track_running_stats={Args.Py(track_running_stats)}";
    }
}

namespace MedDistill.Torch
{
    public static partial class torch
    {
        public static partial class nn
        {
            public static BatchNorm2d BatchNorm2d(long num_features, double eps = 1e-5, double? momentum = 0.1, bool affine = true,
                bool track_running_stats = true, Device? device = null, ScalarType? dtype = null) =>
                new(num_features, eps, momentum, affine, track_running_stats, device, dtype);
        }
    }
}
