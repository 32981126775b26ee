"""lowfi.execution"""
