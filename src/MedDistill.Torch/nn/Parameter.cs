using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>
        /// A tensor that a <see cref="Module"/> trains. Like PyTorch's <c>nn.Parameter(data)</c>, it is a detached
        /// alias of <c>data</c> (a new native handle made by <c>detach()</c>): it shares the storage, so writing one is
        /// visible in the other, but has no autograd history and is a leaf, with <c>requires_grad</c> on by default.
        /// <para>
        /// A parameter is never owned by a <see cref="DisposeScope"/>: it lives until its module (or whoever else owns
        /// it) disposes it, so a training step's scope cannot free weights under the optimizer. The tensor passed in is
        /// not consumed; its owner still disposes it, and the parameter keeps the shared storage alive on its own.
        /// </para>
        /// </summary>
        public sealed class Parameter : Tensor
        {
            public Parameter(Tensor data, bool requires_grad = true) : base(DetachedHandle(data, requires_grad))
            {
                DetachFromDisposeScope();
                if (requires_grad) this.requires_grad = true;
            }

            private static IntPtr DetachedHandle(Tensor data, bool requiresGrad)
            {
                ArgumentNullException.ThrowIfNull(data);
                // Checked here rather than after construction so a rejected tensor leaves no half-made parameter behind.
                if (requiresGrad && !data.dtype.IsFloatingPoint())
                    throw new ArgumentException(
                        $"only floating-point tensors can require gradients, but the parameter data has dtype {data.dtype}; pass requires_grad: false",
                        nameof(data));
                return Native.mdt_detach(data.Handle);
            }

            public override string ToString() => IsInvalid ? "Parameter(disposed)" : "Parameter containing: " + base.ToString();
        }
    }
}
