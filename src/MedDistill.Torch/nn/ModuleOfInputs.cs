using System.Text;

namespace MedDistill.Torch;

public static partial class torch
{
    public static partial class nn
    {
        /// <summary>A module with one input; <see cref="call"/> runs <see cref="forward"/> and then any forward hooks.</summary>
        public abstract class Module<TIn, TOut> : Module
        {
            private readonly List<Action<Module<TIn, TOut>, TIn, TOut>> forwardHooks = new();

            public abstract TOut forward(TIn input);

            /// <summary>
            /// Runs <see cref="forward"/>, then the forward hooks. Without gradient recording, a forward that returns a
            /// tensor runs in its own dispose scope (see <see cref="Module.free_intermediates_without_grad"/>).
            /// </summary>
            public TOut call(TIn input)
            {
                TOut output;
                if (typeof(TOut) == typeof(Tensor) && ScopesCall())
                {
                    using var scope = torch.NewDisposeScope();
                    output = forward(input);
                    KeepBeyond(output as Tensor, scope);
                }
                else output = forward(input);
                if (forwardHooks.Count > 0)
                    foreach (var hook in forwardHooks.ToArray()) hook(this, input, output);
                return output;
            }

            /// <summary>
            /// Runs <paramref name="hook"/>(module, input, output) after every <see cref="call"/> (e.g. to capture a
            /// feature map for distillation). Dispose the returned handle to remove it. While any hook is registered,
            /// no module frees its intermediates early, so a captured map lives as long as the caller's scope.
            /// </summary>
            public IDisposable register_forward_hook(Action<Module<TIn, TOut>, TIn, TOut> hook)
            {
                ArgumentNullException.ThrowIfNull(hook);
                forwardHooks.Add(hook);
                Interlocked.Increment(ref liveForwardHooks);
                return new HookHandle(() =>
                {
                    forwardHooks.Remove(hook);
                    Interlocked.Decrement(ref liveForwardHooks);
                });
            }
        }

        /// <summary>A module with two inputs.</summary>
        public abstract class Module<T1, T2, TOut> : Module
        {
            public abstract TOut forward(T1 input1, T2 input2);

            /// <summary>Runs <see cref="forward"/>; without gradient recording in its own dispose scope, as the one-input call.</summary>
            public TOut call(T1 input1, T2 input2)
            {
                if (typeof(TOut) != typeof(Tensor) || !ScopesCall()) return forward(input1, input2);
                using var scope = torch.NewDisposeScope();
                var output = forward(input1, input2);
                KeepBeyond(output as Tensor, scope);
                return output;
            }
        }

        private sealed class HookHandle(Action remove) : IDisposable
        {
            private Action? remove = remove;
            public void Dispose() => Interlocked.Exchange(ref remove, null)?.Invoke();
        }

        /// <summary>What <see cref="Module.load_state_dict"/> did not match (PyTorch's <c>_IncompatibleKeys</c>).</summary>
        public sealed record LoadStateDictResult(IReadOnlyList<string> missing_keys, IReadOnlyList<string> unexpected_keys);

        /// <summary>A state dict that does not fit the module; lists every missing, unexpected and mis-shaped entry.</summary>
        public sealed class StateDictMismatchException : ArgumentException
        {
            public IReadOnlyList<string> MissingKeys { get; }
            public IReadOnlyList<string> UnexpectedKeys { get; }
            public IReadOnlyList<string> ShapeMismatches { get; }

            internal StateDictMismatchException(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
                : base(Format(module, missing, unexpected, mismatched))
            {
                MissingKeys = missing;
                UnexpectedKeys = unexpected;
                ShapeMismatches = mismatched;
            }

            private static string Format(string module, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> mismatched)
            {
                var sb = new StringBuilder($"Error(s) in loading state_dict for {module}:");
                if (missing.Count > 0) sb.Append("\n\tMissing key(s) in state_dict: ").Append(string.Join(", ", missing.Select(k => $"\"{k}\""))).Append('.');
                if (unexpected.Count > 0) sb.Append("\n\tUnexpected key(s) in state_dict: ").Append(string.Join(", ", unexpected.Select(k => $"\"{k}\""))).Append('.');
                foreach (var m in mismatched) sb.Append("\n\t").Append(m);
                return sb.ToString();
            }
        }
    }
}
