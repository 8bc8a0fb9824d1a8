namespace MedDistill.Torch;

/// <summary>
/// Collects every tensor created on this thread while it is the innermost open scope, and disposes them
/// when it is disposed. Training loops open one per step so native memory stays flat without the GC.
/// Scopes nest; <see cref="Tensor.MoveToOuterDisposeScope"/> hands a tensor to the enclosing scope
/// (or to no scope at all, leaving it to its owner).
/// </summary>
public sealed class DisposeScope : IDisposable
{
    [ThreadStatic] private static DisposeScope? current;

    private readonly HashSet<Tensor> tensors = new(ReferenceEqualityComparer.Instance);
    private bool disposed;

    internal DisposeScope? Outer { get; private set; }

    internal DisposeScope()
    {
        Outer = current;
        current = this;
    }

    internal static DisposeScope? Current => current;

    /// <summary>Number of live tensors this scope will dispose.</summary>
    public int Count => tensors.Count;

    /// <summary>Tensors created after this point belong to the scope (called by <see cref="Tensor"/>).</summary>
    internal static void Attach(Tensor t)
    {
        var scope = current;
        if (scope is null) return;
        scope.tensors.Add(t);
        t.OwningScope = scope;
    }

    internal void Forget(Tensor t)
    {
        tensors.Remove(t);
        t.OwningScope = null;
    }

    internal void Adopt(Tensor t)
    {
        t.OwningScope?.Forget(t);
        tensors.Add(t);
        t.OwningScope = this;
    }

    /// <summary>Moves the given tensors to the enclosing scope and returns the first, for chaining.</summary>
    public T MoveToOuter<T>(T tensor) where T : Tensor
    {
        tensor.MoveToOuterDisposeScope();
        return tensor;
    }

    /// <summary>Disposes every tensor the scope still owns except those listed, which move to the enclosing scope.</summary>
    public void DisposeEverythingBut(params Tensor[] keep)
    {
        foreach (var t in keep) t.MoveToOuterDisposeScope();
        DisposeOwned();
    }

    private void DisposeOwned()
    {
        var owned = tensors.ToArray();
        tensors.Clear();
        foreach (var t in owned)
        {
            t.OwningScope = null;
            t.Dispose();
        }
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        DisposeOwned();
        // Scopes close in LIFO order; a scope disposed out of order unlinks itself without dropping inner ones.
        if (current == this) current = Outer;
        else
        {
            for (var s = current; s is not null; s = s.Outer)
                if (s.Outer == this) { s.Outer = Outer; break; }
        }
    }
}
