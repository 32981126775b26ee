"""lowfi.integrations"""
