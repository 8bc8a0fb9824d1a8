using System.Text;
using MedDistill.Torch.Serialization;

namespace MedDistill.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public abstract partial class Module
        {
            // ---------------------------------------------------------------- state dict

            /// <summary>
            /// Parameters and persistent buffers under PyTorch's dotted names, in PyTorch's order (each module's
            /// parameters, then its buffers, then its children's entries). The values are new detached handles sharing
            /// the module's storage (they belong to the current dispose scope, or to the caller); with
            /// <paramref name="keep_vars"/> they are the module's own Parameter and buffer objects, which the caller
            /// must not dispose.
            /// </summary>
            public Dictionary<string, Tensor> state_dict(bool keep_vars = false)
            {
                var result = new Dictionary<string, Tensor>();
                SaveTo(result, "", keep_vars);
                return result;
            }

            private void SaveTo(Dictionary<string, Tensor> destination, string prefix, bool keepVars)
            {
                foreach (var (name, p) in parameters_)
                    if (p is not null) destination[prefix + name] = keepVars ? p : p.detach();
                foreach (var (name, b) in buffers_)
                    if (b is not null && !nonPersistentBuffers.Contains(name)) destination[prefix + name] = keepVars ? b : b.detach();
                foreach (var (name, m) in modules_)
                    m?.SaveTo(destination, prefix + name + ".", keepVars);
            }

            /// <summary>
            /// Copies the values of <paramref name="state_dict"/> into this module's parameters and persistent buffers,
            /// in place under no_grad (converting dtype and device as <c>copy_</c> does). Everything is checked before
            /// anything is copied: a shape mismatch always throws, and in strict mode so do missing and unexpected keys,
            /// naming them all. Returns the missing and unexpected keys (empty in strict mode).
            /// </summary>
            public LoadStateDictResult load_state_dict(IReadOnlyDictionary<string, Tensor> state_dict, bool strict = true)
            {
                ArgumentNullException.ThrowIfNull(state_dict);
                var own = this.state_dict(keep_vars: true);
                var missing = own.Keys.Where(k => !state_dict.ContainsKey(k)).ToList();
                var unexpected = state_dict.Keys.Where(k => !own.ContainsKey(k)).ToList();
                var mismatched = new List<string>();
                foreach (var (key, target) in own)
                {
                    if (!state_dict.TryGetValue(key, out var source)) continue;
                    if (source is null) { mismatched.Add($"value for {key} is null"); continue; }
                    var have = source.shape;
                    var want = target.shape;
                    if (!have.AsSpan().SequenceEqual(want))
                        mismatched.Add($"size mismatch for {key}: copying a param with shape {FormatShape(have)} from checkpoint, the shape in current model is {FormatShape(want)}.");
                }
                if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
                    throw new StateDictMismatchException(GetName(), strict ? missing : [], strict ? unexpected : [], mismatched);

                using (no_grad())
                {
                    foreach (var (key, target) in own)
                        if (state_dict.TryGetValue(key, out var source)) target.copy_(source);
                }
                return new LoadStateDictResult(missing, unexpected);
            }

            internal static string FormatShape(long[] shape) => "[" + string.Join(", ", shape) + "]";

            // ---------------------------------------------------------------- checkpoints

            /// <summary>Writes the state dict to a safetensors file (atomically: a crash never leaves half a file).</summary>
            public Module save(string path, IReadOnlyDictionary<string, string>? metadata = null)
            {
                var state = state_dict();
                try { Safetensors.Save(path, state, metadata); }
                finally { foreach (var t in state.Values) t.Dispose(); }
                return this;
            }

            /// <summary>Loads a safetensors file written by <see cref="save"/> (or by PyTorch's safetensors) into this module.</summary>
            public Module load(string path, bool strict = true)
            {
                var state = Safetensors.Load(path);
                try { load_state_dict(state, strict); }
                finally { foreach (var t in state.Values) t.Dispose(); }
                return this;
            }
        }
    }
}
