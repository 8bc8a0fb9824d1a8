using MedDistill.Torch.Interop;

namespace MedDistill.Torch;

/// <summary>Unpacks a native tensor list (several results of one call) into managed tensors and frees the list.</summary>
internal static class TensorList
{
    internal static Tensor[] Take(IntPtr list)
    {
        Native.Check(list);
        try
        {
            int n = Native.mdt_list_len(list);
            var result = new Tensor[n];
            for (int i = 0; i < n; i++) result[i] = new Tensor(Native.mdt_list_get(list, i));
            return result;
        }
        finally
        {
            Native.mdt_list_free(list);
        }
    }
}
