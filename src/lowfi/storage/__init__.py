"""lowfi.storage"""
