using System.Collections;
using MedDistill.Torch.Modules;
using static MedDistill.Torch.torch;

namespace MedDistill.Torch.Modules
{
    /// <summary>
    /// Runs its layers in order, each on the previous one's output (through <c>call</c>, so hooks fire). Layers are
    /// children named "0", "1", ... unless given names, so state-dict keys read <c>0.weight</c> as in PyTorch.
    /// Intermediate outputs are left to the caller's dispose scope: a layer or hook may keep a reference to them.
    /// </summary>
    public sealed class Sequential : nn.Module<Tensor, Tensor>, IReadOnlyList<nn.Module<Tensor, Tensor>>
    {
        private readonly List<nn.Module<Tensor, Tensor>> layers = new();
        private readonly List<string> names = new();

        public Sequential() { }

        public Sequential(params nn.Module<Tensor, Tensor>[] modules)
        {
            foreach (var m in modules) append(m);
        }

        public Sequential(params (string name, nn.Module<Tensor, Tensor> module)[] modules)
        {
            foreach (var (name, m) in modules) append(name, m);
        }

        /// <summary>Adds a layer at the end, named by its position.</summary>
        public Sequential append(nn.Module<Tensor, Tensor> module) => append(layers.Count.ToString(), module);

        public Sequential append(string name, nn.Module<Tensor, Tensor> module)
        {
            ArgumentNullException.ThrowIfNull(module);
            if (names.Contains(name)) throw new ArgumentException($"Sequential already has a layer named '{name}'", nameof(name));
            register_module(name, module);
            layers.Add(module);
            names.Add(name);
            return this;
        }

        public nn.Module<Tensor, Tensor> this[int index] => layers[index < 0 ? index + layers.Count : index];
        public nn.Module<Tensor, Tensor> this[string name] =>
            names.IndexOf(name) is var i && i >= 0 ? layers[i] : throw new KeyNotFoundException($"Sequential has no layer named '{name}'");
        public int Count => layers.Count;

        public override Tensor forward(Tensor input)
        {
            var x = input;
            foreach (var layer in layers) x = layer.call(x);
            return x;
        }

        public IEnumerator<nn.Module<Tensor, Tensor>> GetEnumerator() => layers.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>A list of child modules named "0", "1", ..., so their parameters are registered and saved.</summary>
    public sealed class ModuleList<T> : nn.Module, IReadOnlyList<T> where T : nn.Module
    {
        private readonly List<T> items = new();

        public ModuleList(params T[] modules) => extend(modules);

        public ModuleList<T> append(T module)
        {
            ArgumentNullException.ThrowIfNull(module);
            register_module(items.Count.ToString(), module);
            items.Add(module);
            return this;
        }

        public ModuleList<T> extend(IEnumerable<T> modules)
        {
            foreach (var m in modules) append(m);
            return this;
        }

        public T this[int index]
        {
            get => items[index < 0 ? index + items.Count : index];
            set
            {
                int i = index < 0 ? index + items.Count : index;
                if (i < 0 || i >= items.Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"index out of range for a ModuleList of {items.Count}");
                ArgumentNullException.ThrowIfNull(value);
                register_module(i.ToString(), value);
                items[i] = value;
            }
        }

        public int Count => items.Count;
        public IEnumerator<T> GetEnumerator() => items.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        public override string GetName() => "ModuleList";
    }
}

namespace MedDistill.Torch
{
    public static partial class torch
    {
        public static partial class nn
        {
            public static Sequential Sequential() => new();
            public static Sequential Sequential(params Module<Tensor, Tensor>[] modules) => new(modules);
            public static Sequential Sequential(params (string name, Module<Tensor, Tensor> module)[] modules) => new(modules);
            public static ModuleList<T> ModuleList<T>(params T[] modules) where T : Module => new(modules);
            public static ModuleList<Module> ModuleList(params Module[] modules) => new(modules);
        }
    }
}
