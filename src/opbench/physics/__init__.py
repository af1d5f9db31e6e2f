"""Physics-aware learning: PINNs, Hamiltonian networks and a denoising diffusion model.

Apart from ``opbench.models`` (operators between grids): these models are coordinate networks,
learned Hamiltonians and generative models, each with its own training loop.
"""
