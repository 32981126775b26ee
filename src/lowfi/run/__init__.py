"""lowfi.run"""
