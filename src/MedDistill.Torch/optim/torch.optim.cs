using MedDistill.Torch.Optim;

namespace MedDistill.Torch;

public static partial class torch
{
    /// <summary>Optimizers and learning-rate schedulers, named as in torch.optim.</summary>
    public static partial class optim
    {
        public static Optim.SGD SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false, bool maximize = false) =>
            new([new ParamGroup(parameters)], lr, momentum, dampening, weight_decay, nesterov, maximize);

        /// <summary>SGD over several groups; options a group does not set come from these arguments.</summary>
        public static Optim.SGD SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
            double weight_decay = 0, bool nesterov = false, bool maximize = false) =>
            new(groups, lr, momentum, dampening, weight_decay, nesterov, maximize);

        public static Optim.Adam Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 0, bool amsgrad = false, bool maximize = false) =>
            new([new ParamGroup(parameters)], lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);

        public static Optim.Adam Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 0, bool amsgrad = false, bool maximize = false) =>
            new(groups, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);

        public static Optim.AdamW AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) =>
            new([new ParamGroup(parameters)], lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);

        public static Optim.AdamW AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
            double eps = 1e-8, double weight_decay = 1e-2, bool amsgrad = false, bool maximize = false) =>
            new(groups, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize);

        public static class lr_scheduler
        {
            public static Optim.CyclicLR CyclicLR(Optimizer optimizer, double base_lr, double max_lr, int step_size_up = 2000,
                int? step_size_down = null, Optim.CyclicLR.Mode mode = Optim.CyclicLR.Mode.Triangular, double gamma = 1.0,
                Func<double, double>? scale_fn = null, Optim.CyclicLR.ScaleMode scale_mode = Optim.CyclicLR.ScaleMode.Cycle,
                bool cycle_momentum = true, double base_momentum = 0.8, double max_momentum = 0.9) =>
                new(optimizer, base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode,
                    cycle_momentum, base_momentum, max_momentum);

            /// <summary>CyclicLR with per-group bounds (arrays of one value, or one per group).</summary>
            public static Optim.CyclicLR CyclicLR(Optimizer optimizer, double[] base_lr, double[] max_lr, int step_size_up = 2000,
                int? step_size_down = null, Optim.CyclicLR.Mode mode = Optim.CyclicLR.Mode.Triangular, double gamma = 1.0,
                Func<double, double>? scale_fn = null, Optim.CyclicLR.ScaleMode scale_mode = Optim.CyclicLR.ScaleMode.Cycle,
                bool cycle_momentum = true, double[]? base_momentum = null, double[]? max_momentum = null) =>
                new(optimizer, base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode,
                    cycle_momentum, base_momentum, max_momentum);

            public static Optim.PolynomialLR PolynomialLR(Optimizer optimizer, int total_iters = 5, double power = 1.0) =>
                new(optimizer, total_iters, power);

            public static Optim.CosineAnnealingLR CosineAnnealingLR(Optimizer optimizer, int T_max, double eta_min = 0) =>
                new(optimizer, T_max, eta_min);

            public static Optim.StepLR StepLR(Optimizer optimizer, int step_size, double gamma = 0.1) =>
                new(optimizer, step_size, gamma);
        }
    }
}
